-- Envoy docs: iterate the headers with pairs().
-- @request-header: x-a: 1
-- @request-header: x-b: 2
-- @expect: continue
-- @expect-log: info x-a=1;x-b=2
function envoy_on_request(handle)
  local xs = {}
  for key, value in pairs(handle:headers()) do
    if string.sub(key, 1, 2) == "x-" then xs[#xs + 1] = key .. "=" .. value end
  end
  handle:logInfo(table.concat(xs, ";"))
end
