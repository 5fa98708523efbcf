-- A second iterator before the first completes.
-- @expect: error
-- @expect-error: cannot create a second iterator before completing the first
function envoy_on_request(handle)
  for k in pairs(handle:headers()) do
    for k2 in pairs(handle:headers()) do end
  end
end
