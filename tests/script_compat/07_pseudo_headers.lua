-- The pseudo-headers :method, :path, :authority and :scheme are present.
-- @request: POST /orders?id=7
-- @expect: continue
-- @expect-upstream-header: x-seen: POST https://api.example.com/orders?id=7
function envoy_on_request(handle)
  local h = handle:headers()
  h:add("x-seen", h:get(":method") .. " " .. h:get(":scheme") .. "://" .. h:get(":authority") .. h:get(":path"))
end
