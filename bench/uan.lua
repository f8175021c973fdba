-- wrk script: GET /v1/workers/{uan}[SUFFIX] for UANs drawn at random from UAN_FILE, with a bearer
-- token from the TOKEN environment variable (SUFFIX: e.g. /eligibility; default none).
local uans = {}
local token = os.getenv("TOKEN")
local suffix = os.getenv("SUFFIX") or ""

function init(args)
  for line in io.lines(os.getenv("UAN_FILE")) do
    uans[#uans + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

function request()
  local uan = uans[math.random(#uans)]
  return wrk.format("GET", "/v1/workers/" .. uan .. suffix, { ["Authorization"] = "Bearer " .. token })
end

local errors = 0
function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", summary.errors.status))
end
