-- Read and extend request trailers.
-- @request: POST /grpc.Service/Call
-- @request-body: payload
-- @request-trailer: grpc-timeout: 5S
-- @expect: continue
-- @expect-log: info timeout 5S
function envoy_on_request(handle)
  local trailers = handle:trailers()
  handle:logInfo("timeout " .. trailers:get("grpc-timeout"))
  trailers:add("x-checked", "1")
end
