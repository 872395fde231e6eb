-- wrk script for target 7: HTTP /announce with compact=1 over 1,000 torrents and 50,000 peers
-- (50 per torrent), each request from a random peer with its random peer id. The info hashes
-- come from the file named by the HASHES environment variable (40 hex digits a line).
local torrents, npeers = {}, 50000
local peer_ids = {}

local function pct(hex)
  return (hex:gsub("..", function(b) return "%" .. b end))
end

function setup(thread)
  thread:set("id", tostring(thread))
end

function init(args)
  for line in io.lines(os.getenv("HASHES")) do
    if #line == 40 then torrents[#torrents + 1] = pct(line) end
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16))
  -- random peer ids, drawn once so a peer keeps its id across announces
  for i = 1, npeers do
    local t = {}
    for j = 1, 20 do t[j] = string.format("%%%02X", math.random(0, 255)) end
    peer_ids[i] = table.concat(t)
  end
end

function request()
  -- peer p is in torrent p % T; half of each swarm seeds (by p / T), so every
  -- answer carries peers (a tracker sends a seeder only leechers)
  local p = math.random(1, npeers)
  local ih = torrents[(p % #torrents) + 1]
  local path = "/announce?info_hash=" .. ih .. "&peer_id=" .. peer_ids[p] ..
    "&port=" .. (1024 + p) .. "&uploaded=0&downloaded=0&left=" .. (math.floor(p / #torrents) % 2) * 1000 ..
    "&compact=1&numwant=50"
  return wrk.format("GET", path)
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 or body:find("failure reason", 1, true) then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("bad_responses %d\n", bad))
end
