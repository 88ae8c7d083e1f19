-- wrk script for bench/bench_accounts.py: GET a random path from a file, with an API key.
-- usage: wrk -t2 -c50 -d20s --latency -s bench/bench_accounts.lua http://127.0.0.1:PORT -- PATHS_FILE TOKEN [PAUSE_MS]

local paths = {}
local token = ""
local pause = 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  token = args[2]
  -- optional third argument: each connection waits this many ms after a response (a steady-rate client)
  pause = tonumber(args[3] or "0") or 0
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

-- The pause is drawn uniformly from [0, 2 × PAUSE_MS] (mean PAUSE_MS): with a fixed pause the 50 connections,
-- started together, stay in lockstep and every round is a burst of 50 simultaneous requests, which is not what
-- 50 independent clients look like.
function delay()
  if pause <= 0 then
    return 0
  end
  return math.random(0, 2 * pause)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], { ["Authorization"] = "Bearer " .. token })
end

local errors = 0

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    if errors <= 3 then
      io.stderr:write("status " .. status .. ": " .. body:sub(1, 200) .. "\n")
    end
  end
end
