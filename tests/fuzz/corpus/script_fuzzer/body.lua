-- Envoy docs: buffer the whole request body and inspect it.
-- @request: POST /submit
-- @request-body: {"user":"ann","card":"4111111111111111"}
-- @expect: respond
-- @expect-status: 400
-- @expect-reply-body: card numbers are not accepted
function envoy_on_request(handle)
  local body = handle:body()
  local text = body:getBytes(0, body:length())
  if string.find(text, "%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d") then
    handle:respond({[":status"] = "400"}, "card numbers are not accepted")
  end
end
