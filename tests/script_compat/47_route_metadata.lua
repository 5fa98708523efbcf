-- Envoy docs: read route metadata with handle:metadata().
-- @route-metadata: owner payments-team
-- @expect: continue
-- @expect-upstream-header: x-owner: payments-team
function envoy_on_request(handle)
  local owner = handle:metadata():get("owner")
  if owner then handle:headers():add("x-owner", owner) end
end
