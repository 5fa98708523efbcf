-- Envoy's scope guard: a handle saved from an earlier request is dead.
-- @runs: 2
-- @expect: error
-- @expect-error: object used outside of proper scope
local saved
function envoy_on_request(handle)
  if saved then
    saved:headers():get(":path")
  end
  saved = handle
end
