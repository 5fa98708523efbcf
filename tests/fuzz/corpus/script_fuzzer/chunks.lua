-- A chunk can be rewritten as it streams.
-- @response-body: aaaabbbbcccc
-- @expect: continue
-- @expect-log: info chunks 3
function envoy_on_response(handle)
  local n = 0
  for chunk in handle:bodyChunks() do
    n = n + 1
    chunk:setBytes(string.upper(chunk:getBytes(0, chunk:length())))
  end
  handle:logInfo("chunks " .. n)
end
