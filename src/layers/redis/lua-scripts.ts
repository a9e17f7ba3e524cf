import { createHash } from 'node:crypto';

/*
 * Redis data layout (all keys start with the layer's prefix, `asgi:` by default):
 *
 *   <channel>                 list of entries; for `foo!bar` the list is `foo!` (one per process prefix)
 *   gbases:<group>            hash: base → capacity of its list. A base is a process prefix (`foo!`)
 *                             or a whole channel name without `!`.
 *   gmembers:<group>:<base>   sorted set: local part (empty for a channel without `!`) → time of
 *                             its latest add (ms)
 *   glocals:<group>:<base>    string: the same local parts, each after a comma (`,a,b,c`), appended
 *                             on add and cut out on leave, so a group send copies it whole instead
 *                             of walking the members
 *   chgroups:<channel>        set of groups on this host that hold the channel (to drop it from all
 *                             of them when one of its messages expires)
 *   stats:<name>              hash of counters (messages_count, channel_full_count), one hour from
 *                             its first count
 *
 * An entry is `<expiry ms, 14 digits><local parts, comma-separated>\n<payload>`. Normal and `?`
 * channels have one empty local part. A group send puts ONE entry per base with every local part
 * of that base's members in it, so a broadcast costs one list push per interface server, not one
 * per socket, and its Redis time grows with the number of bases, not of members (apart from
 * copying the bytes of the local parts). Timestamps come from the Redis server's clock (TIME), so
 * clients' clocks never disagree about expiry.
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

// Membership helpers: split a channel into base and local part; cut a local part out of a
// `,a,b,c` list; take one member out of a group, keeping its local-parts string in step.
const MEMBERSHIP = `
local function split(ch)
  local bang = string.find(ch, '!', 1, true)
  if bang then return string.sub(ch, 1, bang), string.sub(ch, bang + 1) end
  return ch, ''
end
local function without(locals, loc)
  local at = string.find(locals .. ',', ',' .. loc .. ',', 1, true)
  if not at then return locals end
  return string.sub(locals, 1, at - 1) .. string.sub(locals, at + #loc + 1)
end
local function leave(group, base, loc)
  local mk = prefix .. 'gmembers:' .. group .. ':' .. base
  if redis.call('ZREM', mk, loc) == 0 then return end
  local lk = prefix .. 'glocals:' .. group .. ':' .. base
  local ttl = redis.call('PTTL', mk)
  if ttl == -2 then
    redis.call('DEL', lk)
    redis.call('HDEL', prefix .. 'gbases:' .. group, base)
    return
  end
  local locals = redis.call('GET', lk)
  if locals and ttl > 0 then redis.call('SET', lk, without(locals, loc), 'PX', ttl)
  elseif locals then redis.call('SET', lk, without(locals, loc)) end
end`;

// Expiry clean-up: an expired entry's channels leave every group on this host (and are
// reported back in dead, for the client to clean the other hosts).
const EXPIRY = `
local function gc(ch)
  local rk = prefix .. 'chgroups:' .. ch
  local gs = redis.call('SMEMBERS', rk)
  local base, loc = split(ch)
  for i = 1, #gs do leave(gs[i], base, loc) end
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

// One base of a group, ready to send: members older than the group expiry leave first, and the
// local-parts string is rebuilt if it went missing. Returns the local parts (`a,b,c`) and their
// count, or nil when the base has no members left.
const GROUP_BASE = `
local function live_locals(group, base, now, gexp)
  local mk = prefix .. 'gmembers:' .. group .. ':' .. base
  local lk = prefix .. 'glocals:' .. group .. ':' .. base
  local oldest = redis.call('ZRANGE', mk, 0, 0, 'WITHSCORES')
  local locals = redis.call('GET', lk)
  if #oldest > 0 and tonumber(oldest[2]) <= now - gexp then
    local old = redis.call('ZRANGEBYSCORE', mk, '-inf', now - gexp)
    for i = 1, #old do redis.call('SREM', prefix .. 'chgroups:' .. base .. old[i], group) end
    redis.call('ZREMRANGEBYSCORE', mk, '-inf', now - gexp)
    locals = nil
  end
  local n = redis.call('ZCARD', mk)
  if n == 0 then
    redis.call('HDEL', prefix .. 'gbases:' .. group, base)
    redis.call('DEL', lk)
    return nil
  end
  if not locals then
    locals = ',' .. table.concat(redis.call('ZRANGE', mk, 0, -1), ',')
    local ttl = redis.call('PTTL', mk)
    if ttl > 0 then redis.call('SET', lk, locals, 'PX', ttl) else redis.call('SET', lk, locals) end
  end
  return string.sub(locals, 2), n
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
  ${MEMBERSHIP}
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

/**
 * Many sends in one call, in order, each as SEND. ARGV: prefix, expiry, stats, then per message
 * base, local part, payload, capacity → {1 or 0 per message, dead}. After a message refused as
 * full, the later ones for the same channel (base and local part) are refused too: order holds.
 */
export const SEND_MANY = lua(
  COUNT,
  MEMBERSHIP,
  EXPIRY,
  `
local expiry, stats = tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stamp = string.format('%014d', now + expiry)
local dead, results, refused, sent = {}, {}, {}, {}
for i = 4, #ARGV, 4 do
  local base, loc, payload, cap = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local channel = base .. loc
  local ok = 0
  if not refused[channel] then
    local key = prefix .. base
    local len = redis.call('RPUSH', key, stamp .. loc .. '\\n' .. payload)
    ok = 1
    if len > cap then
      trim_expired(base, now, dead)
      if redis.call('LLEN', key) > cap then
        redis.call('RPOP', key)
        count(stats, base, 'channel_full_count', 1)
        refused[channel] = true
        ok = 0
      end
    end
    if ok == 1 then sent[base] = (sent[base] or 0) + 1 end
  end
  results[#results + 1] = ok
end
for base, n in pairs(sent) do
  redis.call('PEXPIRE', prefix .. base, expiry + 1000)
  count(stats, base, 'messages_count', n)
end
return {results, dead}`,
);

/** Non-blocking receive. ARGV: prefix, base... → {index of base or 0, entry or '', dead} */
export const RECEIVE = lua(
  NOW,
  MEMBERSHIP,
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
  MEMBERSHIP,
  `
local group, ch, gexp = ARGV[2], ARGV[3], tonumber(ARGV[5])
local base, loc = split(ch)
local gk, rk = prefix .. 'gbases:' .. group, prefix .. 'chgroups:' .. ch
local mk, lk = prefix .. 'gmembers:' .. group .. ':' .. base, prefix .. 'glocals:' .. group .. ':' .. base
if redis.call('ZADD', mk, now_ms(), loc) == 1 then
  -- A missing string with other members is rebuilt by the next send; never append to a fragment.
  if redis.call('ZCARD', mk) == 1 then redis.call('SET', lk, ',' .. loc)
  elseif redis.call('EXISTS', lk) == 1 then redis.call('APPEND', lk, ',' .. loc) end
end
redis.call('HSET', gk, base, ARGV[4])
redis.call('SADD', rk, group)
redis.call('PEXPIRE', gk, gexp)
redis.call('PEXPIRE', mk, gexp)
redis.call('PEXPIRE', lk, gexp)
redis.call('PEXPIRE', rk, gexp)
return 1`,
);

/** ARGV: prefix, group, channel */
export const GROUP_DISCARD = lua(
  MEMBERSHIP,
  `
local group, ch = ARGV[2], ARGV[3]
local base, loc = split(ch)
leave(group, base, loc)
redis.call('SREM', prefix .. 'chgroups:' .. ch, group)
return 1`,
);

/** ARGV: prefix, group, group expiry ms → flat base, capacity, local parts (`a,b,c`), count... */
export const GROUP_MEMBERS = lua(
  NOW,
  GROUP_BASE,
  `
local now, gexp, group = now_ms(), tonumber(ARGV[3]), ARGV[2]
local bases = redis.call('HGETALL', prefix .. 'gbases:' .. group)
local out = {}
for i = 1, #bases, 2 do
  local locals, n = live_locals(group, bases[i], now, gexp)
  if locals then
    out[#out + 1] = bases[i]; out[#out + 1] = bases[i + 1]; out[#out + 1] = locals; out[#out + 1] = n
  end
end
return out`,
);

/** Whole group send on the host that holds the group (single host). ARGV: prefix, group, payload, expiry ms, group expiry ms, stats → {members sent to, dead} */
export const GROUP_SEND = lua(
  NOW,
  COUNT,
  MEMBERSHIP,
  EXPIRY,
  PUSH,
  GROUP_BASE,
  `
local now, group, payload, expiry, gexp = now_ms(), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local bases = redis.call('HGETALL', prefix .. 'gbases:' .. group)
local dead = {}
-- Expired entries first: their channels leave the group before it is read.
for i = 1, #bases, 2 do trim_expired(bases[i], now, dead) end
local sent = 0
for i = 1, #bases, 2 do
  local locals, n = live_locals(group, bases[i], now, gexp)
  if locals and push(bases[i], locals, n, payload, now, expiry, tonumber(bases[i + 1]), ARGV[6], dead) then
    sent = sent + n
  end
end
return {sent, dead}`,
);

/** Group send to the bases living on this host (several hosts). ARGV: prefix, payload, expiry ms, stats, then base, capacity, local parts, count... → {members sent to, dead} */
export const GROUP_PUSH = lua(
  NOW,
  COUNT,
  MEMBERSHIP,
  EXPIRY,
  PUSH,
  `
local now, payload, expiry = now_ms(), ARGV[2], tonumber(ARGV[3])
local dead = {}
for i = 5, #ARGV, 4 do trim_expired(ARGV[i], now, dead) end
local sent = 0
for i = 5, #ARGV, 4 do
  local base, locals, n = ARGV[i], ',' .. ARGV[i + 2], tonumber(ARGV[i + 3])
  -- Members whose messages just expired here are cut out (their groups live on another host).
  for j = 1, #dead do
    local b, loc = split(dead[j])
    if b == base then
      local cut = without(locals, loc)
      if cut ~= locals then locals = cut; n = n - 1 end
    end
  end
  if n > 0 and push(base, string.sub(locals, 2), n, payload, now, expiry, tonumber(ARGV[i + 1]), ARGV[4], dead) then
    sent = sent + n
  end
end
return {sent, dead}`,
);

/** Channels whose messages expired elsewhere leave their groups on this host. ARGV: prefix, channel... */
export const FORGET_CHANNELS = lua(
  MEMBERSHIP,
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
  SEND_MANY,
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
