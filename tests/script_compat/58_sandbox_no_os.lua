-- The sandbox: os and io are not there.
-- @expect: error
-- @expect-error: attempt to index global 'os' (a nil value)
function envoy_on_request(handle)
  os.execute("true")
end
