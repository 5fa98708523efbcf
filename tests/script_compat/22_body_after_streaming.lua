-- body() after streaming started is an error in Envoy.
-- @request: POST /
-- @request-body: abcdefgh
-- @fail-open: true
-- @expect: error
-- @expect-error: cannot call body() after body has been streamed
function envoy_on_request(handle)
  for chunk in handle:bodyChunks() do end
  handle:body()
end
