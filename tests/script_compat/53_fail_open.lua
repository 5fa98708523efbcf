-- With failOpen the request goes on despite the error.
-- @fail-open: true
-- @expect: error
-- @expect-status: 200
-- @expect-upstream-header-absent: x-never
function envoy_on_request(handle)
  error("deliberate")
  handle:headers():add("x-never", "1")
end
