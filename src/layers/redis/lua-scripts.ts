/*
 * Redis data layout (all keys start with the layer's prefix, `asgi:` by default):
 *
 *   <channel>            list of entries; for `foo!bar` the list is `foo!` (one per process prefix)
 *   group:<group>        sorted set: member channel → time of its latest add (ms)
 *   groupcap:<group>     hash: member channel → capacity of its list (so a group send needs no
 *                        round trip back to the client to look capacities up)
 *   chgroups:<channel>   set of groups on this host that hold the channel (to drop it from all of
 *                        them when one of its messages expires)
 *   stats, stats:<name>  hashes of counters (messages_count, channel_full_count)
 *
 * An entry is `<expiry ms, 14 digits><local parts, comma-separated>\n<payload>`. Normal and `?`
 * channels have one empty local part. A group send puts ONE entry per process prefix with every
 * local part of that prefix's members in it, so a broadcast costs one list push per interface
 * server, not one per socket. Timestamps come from the Redis server's clock (TIME), so clients'
 * clocks never disagree about expiry.
 */

const COMMON = `
local prefix = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function count(key, field, n, ttl)
  if redis.call('HINCRBY', key, field, n) == n and redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ttl)
  end
end
-- counters live 24 h (global) and 1 h (per channel) from their first increment
local function count_stat(stats, base, field, n)
  if stats == '1' then
    count(prefix .. 'stats', field, n, 86400000)
    count(prefix .. 'stats:' .. base, field, n, 3600000)
  end
end
-- the channel leaves every group on this host
local function gc(ch)
  local rk = prefix .. 'chgroups:' .. ch
  local gs = redis.call('SMEMBERS', rk)
  for i = 1, #gs do
    redis.call('ZREM', prefix .. 'group:' .. gs[i], ch)
    redis.call('HDEL', prefix .. 'groupcap:' .. gs[i], ch)
  end
  if #gs > 0 then redis.call('DEL', rk) end
end
-- an expired entry: every channel in it leaves its groups and is reported back in dead
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
end
-- push one entry; false when the list is at capacity even after dropping expired entries
local function push(base, locals, n, payload, now, expiry, cap, stats, dead)
  local key = prefix .. base
  local len = redis.call('RPUSH', key, string.format('%014d', now + expiry) .. locals .. '\\n' .. payload)
  if len > cap then
    trim_expired(base, now, dead)
    if redis.call('LLEN', key) > cap then
      redis.call('RPOP', key)
      count_stat(stats, base, 'channel_full_count', n)
      return false
    end
  end
  redis.call('PEXPIRE', key, expiry + 1000)
  count_stat(stats, base, 'messages_count', n)
  return true
end
local function trim_members(group, now, gexp)
  local gk = prefix .. 'group:' .. group
  local old = redis.call('ZRANGEBYSCORE', gk, '-inf', now - gexp)
  for i = 1, #old do
    redis.call('ZREM', gk, old[i])
    redis.call('HDEL', prefix .. 'groupcap:' .. group, old[i])
    redis.call('SREM', prefix .. 'chgroups:' .. old[i], group)
  end
end
-- members: flat list channel, capacity, channel, capacity...
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
end
`;

/** KEYS: none. ARGV: prefix, base, local, payload, expiry ms, capacity, stats. → {1|0, dead...} */
export const SEND = `${COMMON}
local dead = {}
local ok = push(ARGV[2], ARGV[3], 1, ARGV[4], now_ms(), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], dead)
return {ok and 1 or 0, dead}
`;

/** Non-blocking receive. ARGV: prefix, base... → {index of base or 0, entry or '', dead} */
export const RECEIVE = `${COMMON}
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
return {0, '', dead}
`;

/** ARGV: prefix, group, channel, capacity, group expiry ms */
export const GROUP_ADD = `${COMMON}
local group, ch, gexp = ARGV[2], ARGV[3], tonumber(ARGV[5])
local gk, ck, rk = prefix .. 'group:' .. group, prefix .. 'groupcap:' .. group, prefix .. 'chgroups:' .. ch
redis.call('ZADD', gk, now_ms(), ch)
redis.call('HSET', ck, ch, ARGV[4])
redis.call('SADD', rk, group)
redis.call('PEXPIRE', gk, gexp)
redis.call('PEXPIRE', ck, gexp)
redis.call('PEXPIRE', rk, gexp)
return 1
`;

/** ARGV: prefix, group, channel */
export const GROUP_DISCARD = `${COMMON}
local group, ch = ARGV[2], ARGV[3]
redis.call('ZREM', prefix .. 'group:' .. group, ch)
redis.call('HDEL', prefix .. 'groupcap:' .. group, ch)
redis.call('SREM', prefix .. 'chgroups:' .. ch, group)
return 1
`;

/** ARGV: prefix, group, group expiry ms → flat channel, capacity list of live members */
export const GROUP_MEMBERS = `${COMMON}
trim_members(ARGV[2], now_ms(), tonumber(ARGV[3]))
return redis.call('HGETALL', prefix .. 'groupcap:' .. ARGV[2])
`;

/** Whole group send on the host that holds the group (single host). ARGV: prefix, group, payload, expiry ms, group expiry ms, stats → {sent, dead} */
export const GROUP_SEND = `${COMMON}
local now = now_ms()
trim_members(ARGV[2], now, tonumber(ARGV[5]))
local members = redis.call('HGETALL', prefix .. 'groupcap:' .. ARGV[2])
local dead = {}
local sent = push_members(members, 1, ARGV[3], now, tonumber(ARGV[4]), ARGV[6], dead)
return {sent, dead}
`;

/** Group send to members living on this host (several hosts). ARGV: prefix, payload, expiry ms, stats, channel, capacity... */
export const GROUP_PUSH = `${COMMON}
local dead = {}
local sent = push_members(ARGV, 5, ARGV[2], now_ms(), tonumber(ARGV[3]), ARGV[4], dead)
return {sent, dead}
`;

/** Channels whose messages expired elsewhere leave their groups on this host. ARGV: prefix, channel... */
export const FORGET_CHANNELS = `${COMMON}
for i = 2, #ARGV do gc(ARGV[i]) end
return 1
`;

/** ARGV: prefix, base → {pending, head expiry ms or -1, messages_count, channel_full_count, now ms} */
export const CHANNEL_STATS = `${COMMON}
local key = prefix .. ARGV[2]
local head = redis.call('LINDEX', key, 0)
local counts = redis.call('HMGET', prefix .. 'stats:' .. ARGV[2], 'messages_count', 'channel_full_count')
return {redis.call('LLEN', key), head and tonumber(string.sub(head, 1, 14)) or -1,
  tonumber(counts[1] or '0'), tonumber(counts[2] or '0'), now_ms()}
`;

/** ARGV: prefix → {messages_count, channel_full_count} */
export const GLOBAL_STATS = `${COMMON}
local counts = redis.call('HMGET', prefix .. 'stats', 'messages_count', 'channel_full_count')
return {tonumber(counts[1] or '0'), tonumber(counts[2] or '0')}
`;
