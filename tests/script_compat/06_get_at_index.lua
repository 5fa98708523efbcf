-- getAtIndex and getNumValues over a repeated header.
-- @request-header: x-forwarded-for: 1.1.1.1
-- @request-header: x-forwarded-for: 2.2.2.2
-- @expect: continue
-- @expect-upstream-header: x-first-hop: 1.1.1.1
-- @expect-upstream-header: x-hops: 2
function envoy_on_request(handle)
  local h = handle:headers()
  h:add("x-first-hop", h:getAtIndex("x-forwarded-for", 0))
  h:add("x-hops", tostring(h:getNumValues("x-forwarded-for")))
end
