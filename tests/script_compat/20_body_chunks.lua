-- Envoy docs: iterate body chunks without buffering.
-- @request: POST /upload
-- @request-body: 0123456789abcdef
-- @expect: continue
-- @expect-log: info received 16 bytes
function envoy_on_request(handle)
  local total = 0
  for chunk in handle:bodyChunks() do
    total = total + chunk:length()
  end
  handle:logInfo("received " .. total .. " bytes")
end
