-- Data masking: rewrite the response body with setBytes.
-- @response-body: email=ann@example.com
-- @expect: continue
-- @expect-client-body: email=***
function envoy_on_response(handle)
  local body = handle:body()
  local text = body:getBytes(0, body:length())
  body:setBytes((string.gsub(text, "=[^&]+", "=***")))
end
