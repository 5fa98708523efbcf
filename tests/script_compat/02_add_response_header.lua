-- Envoy docs: add a header to the response.
-- @expect: continue
-- @expect-client-header: response-body-size: 5
-- @response-body: hello
function envoy_on_response(response_handle)
  local body_size = response_handle:body():length()
  response_handle:headers():add("response-body-size", tostring(body_size))
end
