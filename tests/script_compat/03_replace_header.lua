-- replace() overwrites every value of a header.
-- @request-header: x-env: dev
-- @request-header: x-env: test
-- @expect: continue
-- @expect-upstream-header: x-env: prod
function envoy_on_request(handle)
  handle:headers():replace("x-env", "prod")
  if handle:headers():getNumValues("x-env") ~= 1 then error("replace kept duplicates") end
end
