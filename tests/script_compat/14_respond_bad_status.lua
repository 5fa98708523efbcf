-- Envoy's check of the local reply's :status.
-- @expect: error
-- @expect-status: 500
-- @expect-error: :status must be between 200-599
function envoy_on_request(handle)
  handle:respond({[":status"] = "100"}, "")
end
