-- Modifying the map inside the loop raises Envoy's guard error.
-- @expect: error
-- @expect-status: 500
-- @expect-error: header map cannot be modified while iterating
function envoy_on_request(handle)
  for key, value in pairs(handle:headers()) do
    handle:headers():remove(key)
  end
end
