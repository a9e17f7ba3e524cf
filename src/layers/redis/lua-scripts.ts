import { createHash } from 'node:crypto';

/*
 * Redis data layout (all keys start with the layer's prefix, `asgi:` by default):
 *
 *   <channel>            list of entries; for `foo!bar` the list is `foo!` (one per process prefix)
 *   group:<group>        sorted set: member channel → time of its latest add (ms)
 *   groupcap:<group>     hash: member channel → capacity of its list (so a group send needs no
 *                        round trip back to the client to look capacities up)
 *   chgroups:<channel>   set of groups on this host that hold the channel (to drop it from all of
 *                        them when one of its messages expires)
 *   stats:<name>         hash of counters (messages_count, channel_full_count), one hour from its
 *                        first count
 *
 * An entry is `<expiry ms, 14 digits><local parts, comma-separated>\n<payload>`. Normal and `?`
 * channels have one empty local part. A group send puts ONE entry per process prefix with every
 * local part of that prefix's members in it, so a broadcast costs one list push per interface
 * server, not one per socket. Timestamps come from the Redis server's clock (TIME), so clients'
 * clocks never disagree about expiry.
 *
 * Each script carries only the helpers it uses: Lua makes a closure per helper on every call.
 * ARGV[1] is always the prefix.
 */

const PRELUDE = `local prefix = ARGV[1]`;

const NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;

// One HINCRBY per count; the key gets its one-hour TTL with its first count.
const COUNT = `
local function count(stats, base, field, n)
  if stats == '1' then
    local key = prefix .. 'stats:' .. base
    if redis.call('HINCRBY', key, field, n) == n then redis.call('PEXPIRE', key, 3600000) end
  end
end`;

// Expiry clean-up: an expired entry's channels leave every group on this host (and are
// reported back in dead, for the client to clean the other hosts).
const EXPIRY = `
local function gc(ch)
  local rk = prefix .. 'chgroups:' .. ch
  local gs = redis.call('SMEMBERS', rk)
  for i = 1, #gs do
    redis.call('ZREM', prefix .. 'group:' .. gs[i], ch)
    redis.call('HDEL', prefix .. 'groupcap:' .. gs[i], ch)
  end
  if #gs > 0 then redis.call('DEL', rk) end
end
local function bury(base, e, dead)
  local nl = string.find(e, '\\n', 15, true)
  local locals, start = string.sub(e, 15, nl - 1), 1
  while true do
    local comma = string.find(locals, ',', start, true)
    local ch = base .. string.sub(locals, start, comma and comma - 1 or -1)
    gc(ch); dead[#dead + 1] = ch
    if not comma then return end
    start = comma + 1
  end
end
local function trim_expired(base, now, dead)
  local key = prefix .. base
  while true do
    local e = redis.call('LINDEX', key, 0)
    if not e or tonumber(string.sub(e, 1, 14)) > now then return end
    redis.call('LPOP', key)
    bury(base, e, dead)
  end
end`;

// Push one entry; false when the list is at capacity even after dropping expired entries.
const PUSH = `
local function push(base, locals, n, payload, now, expiry, cap, stats, dead)
  local key = prefix .. base
  local len = redis.call('RPUSH', key, string.format('%014d', now + expiry) .. locals .. '\\n' .. payload)
  if len > cap then
    trim_expired(base, now, dead)
    if redis.call('LLEN', key) > cap then
      redis.call('RPOP', key)
      count(stats, base, 'channel_full_count', n)
      return false
    end
  end
  redis.call('PEXPIRE', key, expiry + 1000)
  count(stats, base, 'messages_count', n)
  return true
end`;

const TRIM_MEMBERS = `
local function trim_members(group, now, gexp)
  local gk = prefix .. 'group:' .. group
  local old = redis.call('ZRANGEBYSCORE', gk, '-inf', now - gexp)
  for i = 1, #old do
    redis.call('ZREM', gk, old[i])
    redis.call('HDEL', prefix .. 'groupcap:' .. group, old[i])
    redis.call('SREM', prefix .. 'chgroups:' .. old[i], group)
  end
end`;

// members: flat list channel, capacity, channel, capacity... from index first
const PUSH_MEMBERS = `
local function push_members(members, first, payload, now, expiry, stats, dead)
  local order, locals, caps = {}, {}, {}
  for i = first, #members, 2 do
    local ch = members[i]
    local bang = string.find(ch, '!', 1, true)
    local base, loc = ch, ''
    if bang then base = string.sub(ch, 1, bang); loc = string.sub(ch, bang + 1) end
    if not locals[base] then
      locals[base] = {}; caps[base] = tonumber(members[i + 1]); order[#order + 1] = base
    end
    local l = locals[base]
    l[#l + 1] = loc
  end
  for _, base in ipairs(order) do trim_expired(base, now, dead) end
  local gone = {}
  for i = 1, #dead do gone[dead[i]] = true end
  local sent = 0
  for _, base in ipairs(order) do
    local live = {}
    for _, loc in ipairs(locals[base]) do
      if not gone[base .. loc] then live[#live + 1] = loc end
    end
    if #live > 0 and push(base, table.concat(live, ','), #live, payload, now, expiry, caps[base], stats, dead) then
      sent = sent + #live
    end
  end
  return sent
end`;

const lua = (...parts: string[]): string => [PRELUDE, ...parts].join('\n');

/**
 * ARGV: prefix, base, local, payload, expiry ms, capacity, stats → {1|0, dead}. The hot path
 * inlines its work; the expiry helpers are only made when the list is full.
 */
export const SEND = lua(
  COUNT,
  `
local base, payload, expiry, cap = ARGV[2], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key = prefix .. base
local dead = {}
local len = redis.call('RPUSH', key, string.format('%014d', now + expiry) .. ARGV[3] .. '\\n' .. payload)
if len > cap then
  ${EXPIRY}
  trim_expired(base, now, dead)
  if redis.call('LLEN', key) > cap then
    redis.call('RPOP', key)
    count(ARGV[7], base, 'channel_full_count', 1)
    return {0, dead}
  end
end
redis.call('PEXPIRE', key, expiry + 1000)
count(ARGV[7], base, 'messages_count', 1)
return {1, dead}`,
);

/** Non-blocking receive. ARGV: prefix, base... → {index of base or 0, entry or '', dead} */
export const RECEIVE = lua(
  NOW,
  EXPIRY,
  `
local now = now_ms()
local dead = {}
for i = 2, #ARGV do
  local key = prefix .. ARGV[i]
  while true do
    local e = redis.call('LPOP', key)
    if not e then break end
    if tonumber(string.sub(e, 1, 14)) > now then return {i - 1, e, dead} end
    bury(ARGV[i], e, dead)
  end
end
return {0, '', dead}`,
);

/** ARGV: prefix, group, channel, capacity, group expiry ms */
export const GROUP_ADD = lua(
  NOW,
  `
local group, ch, gexp = ARGV[2], ARGV[3], tonumber(ARGV[5])
local gk, ck, rk = prefix .. 'group:' .. group, prefix .. 'groupcap:' .. group, prefix .. 'chgroups:' .. ch
redis.call('ZADD', gk, now_ms(), ch)
redis.call('HSET', ck, ch, ARGV[4])
redis.call('SADD', rk, group)
redis.call('PEXPIRE', gk, gexp)
redis.call('PEXPIRE', ck, gexp)
redis.call('PEXPIRE', rk, gexp)
return 1`,
);

/** ARGV: prefix, group, channel */
export const GROUP_DISCARD = lua(`
local group, ch = ARGV[2], ARGV[3]
redis.call('ZREM', prefix .. 'group:' .. group, ch)
redis.call('HDEL', prefix .. 'groupcap:' .. group, ch)
redis.call('SREM', prefix .. 'chgroups:' .. ch, group)
return 1`);

/** ARGV: prefix, group, group expiry ms → flat channel, capacity list of live members */
export const GROUP_MEMBERS = lua(
  NOW,
  TRIM_MEMBERS,
  `
trim_members(ARGV[2], now_ms(), tonumber(ARGV[3]))
return redis.call('HGETALL', prefix .. 'groupcap:' .. ARGV[2])`,
);

/** Whole group send on the host that holds the group (single host). ARGV: prefix, group, payload, expiry ms, group expiry ms, stats → {sent, dead} */
export const GROUP_SEND = lua(
  NOW,
  COUNT,
  EXPIRY,
  PUSH,
  TRIM_MEMBERS,
  PUSH_MEMBERS,
  `
local now = now_ms()
trim_members(ARGV[2], now, tonumber(ARGV[5]))
local members = redis.call('HGETALL', prefix .. 'groupcap:' .. ARGV[2])
local dead = {}
local sent = push_members(members, 1, ARGV[3], now, tonumber(ARGV[4]), ARGV[6], dead)
return {sent, dead}`,
);

/** Group send to members living on this host (several hosts). ARGV: prefix, payload, expiry ms, stats, channel, capacity... */
export const GROUP_PUSH = lua(
  NOW,
  COUNT,
  EXPIRY,
  PUSH,
  PUSH_MEMBERS,
  `
local dead = {}
local sent = push_members(ARGV, 5, ARGV[2], now_ms(), tonumber(ARGV[3]), ARGV[4], dead)
return {sent, dead}`,
);

/** Channels whose messages expired elsewhere leave their groups on this host. ARGV: prefix, channel... */
export const FORGET_CHANNELS = lua(
  EXPIRY,
  `
for i = 2, #ARGV do gc(ARGV[i]) end
return 1`,
);

/** ARGV: prefix, base → {pending, head expiry ms or -1, messages_count, channel_full_count, now ms} */
export const CHANNEL_STATS = lua(
  NOW,
  `
local key = prefix .. ARGV[2]
local head = redis.call('LINDEX', key, 0)
local counts = redis.call('HMGET', prefix .. 'stats:' .. ARGV[2], 'messages_count', 'channel_full_count')
return {redis.call('LLEN', key), head and tonumber(string.sub(head, 1, 14)) or -1,
  tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), now_ms()}`,
);

export const SCRIPTS = {
  SEND,
  RECEIVE,
  GROUP_ADD,
  GROUP_DISCARD,
  GROUP_MEMBERS,
  GROUP_SEND,
  GROUP_PUSH,
  FORGET_CHANNELS,
  CHANNEL_STATS,
};

export type ScriptName = keyof typeof SCRIPTS;

/** SHA1 of each script, so calls go straight to EVALSHA (EVAL only after a NOSCRIPT). */
export const SCRIPT_SHAS = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, source]) => [name, createHash('sha1').update(source).digest('hex')]),
) as Record<ScriptName, string>;
