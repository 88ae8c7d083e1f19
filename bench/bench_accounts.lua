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

function delay()
  return pause
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
