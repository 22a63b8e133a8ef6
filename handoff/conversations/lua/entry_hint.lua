
-- The live hint of a new transcript entry carries the entry itself and the id of the one
-- before it (conversations/hints.py): a socket that has delivered that one sends the new entry
-- straight from the hint, without reading the stream back; any other socket reads from its
-- last entry, as for every hint. Called before the XADD (previous_entry) and after it.
local function previous_entry(log_key)
  local last = redis.call('XREVRANGE', log_key, '+', '-', 'COUNT', 1)[1]
  if last then
    return last[1]
  end
  return '0-0'
end

local function publish_entry(channel, cid, previous, id, pairs_list, first, extra)
  local fields = {}
  for i = first, #pairs_list, 2 do
    fields[pairs_list[i]] = pairs_list[i + 1]
  end
  local hint = {c = cid, e = id, p = previous, f = fields}
  for name, value in pairs(extra) do
    hint[name] = value
  end
  redis.call('PUBLISH', channel, cjson.encode(hint))
end
