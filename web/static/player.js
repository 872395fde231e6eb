// The Seedcast player: plays an episode from its swarm (WebTorrent over WebRTC) and
// checks the whole file against the feed's SHA-256. An ES module, loaded as
// <script type="module" src="/static/player.js">; no inline script, so the page's
// CSP can stay script-src 'self'.
//
// It reads the #player contract the pages render:
//   <div id="player" data-infohash data-torrent data-magnet data-sha256 data-name data-type
//        data-progress="0" data-peers="0" data-verified="false">
//     <audio|video controls></audio|video><p class="player-status"></p></div>
// and keeps data-progress (0..1), data-peers and data-verified up to date, for
// people (the status line) and for tests. It adds data-peers-max (the most peers
// connected at once: once complete, WebTorrent drops its wires to other complete
// peers, so data-peers falls back to 0) and data-listener-bytes (bytes received
// from other listeners, not the seeder).
import WebTorrent from './vendor/webtorrent.min.js'

// WebTorrent peers (browsers) have Azureus-style peer ids "-WW....-": bytes from
// them came from other listeners; anything else speaking WebRTC is the seeder.
const webTorrentPeerID = '2d5757' // "-WW" in hex

const el = document.getElementById('player')
if (el) start(el).catch(err => status(el, 'Player error: ' + err.message))

async function start (el) {
  const media = el.querySelector('audio, video')
  const res = await fetch(el.dataset.torrent, { credentials: 'omit' })
  if (!res.ok) throw new Error('cannot fetch the torrent (' + res.status + ')')
  let torrentFile = new Uint8Array(await res.arrayBuffer())
  const webSeed = urlList(torrentFile)
  if (webSeed && !(await corsAllowed(webSeed))) {
    // The browser may use the original URL only if its origin allows it (CORS).
    torrentFile = withoutKey(torrentFile, 'url-list')
  }

  const client = new WebTorrent({
    dht: false,
    lsd: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    // No STUN/TURN of a third party: peers offer their own addresses only.
    tracker: { rtcConfig: { iceServers: [] } }
  })
  const streaming = await streamServer(client)
  const bytes = { listeners: 0, seeder: 0, origin: 0 }

  const torrent = client.add(torrentFile)
  // Wires (web seeds first) can come before the torrent is ready: count from the start.
  const counted = new WeakSet()
  const count = wire => {
    if (counted.has(wire)) return
    counted.add(wire)
    wire.on('download', n => {
      if (wire.type === 'webSeed') bytes.origin += n
      else if (String(wire.peerId || '').startsWith(webTorrentPeerID)) bytes.listeners += n
      else bytes.seeder += n
    })
  }
  torrent.on('wire', count)
  torrent.once('ready', () => {
    torrent.wires.forEach(count)
    const file = torrent.files[0]
    if (streaming) {
      file.streamTo(media) // plays while it downloads, seeking included (service worker)
    }
    const update = () => render(el, torrent, bytes)
    const timer = setInterval(update, 500)
    torrent.on('wire', update)
    const finish = async () => {
      clearInterval(timer)
      update()
      const blob = await file.blob()
      if (!streaming) media.src = URL.createObjectURL(blob) // no service worker: play once whole
      await verify(el, blob)
      update()
      setInterval(update, 2000) // it keeps seeding to other listeners
    }
    if (torrent.done) finish()
    else torrent.once('done', finish)
  })
  client.on('error', err => status(el, 'Player error: ' + err.message))
}

// streamServer registers WebTorrent's service worker, which answers the media
// element's (range) requests from the torrent's pieces as they arrive: playback
// starts long before the download ends, for any format the element plays (MSE
// would take only fragmented MP4/WebM and MP3). It needs a secure context (https
// or localhost) and the page inside the worker's scope ("/", which the gateway
// allows with a Service-Worker-Allowed header); without it the file plays once
// complete, from a blob URL.
async function streamServer (client) {
  if (!('serviceWorker' in navigator)) return false
  try {
    const reg = await navigator.serviceWorker.register('/static/vendor/sw.min.js', { scope: '/' })
    await navigator.serviceWorker.ready
    const worker = reg.active
    if (worker && worker.state !== 'activated') {
      await new Promise(resolve => worker.addEventListener('statechange', () => {
        if (worker.state === 'activated') resolve()
      }))
    }
    if (!navigator.serviceWorker.controller) {
      // The worker claims the page as it activates; until then the media
      // element's requests would miss it.
      await new Promise(resolve => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }))
    }
    client.createServer({ controller: reg })
    return true
  } catch (err) {
    return false
  }
}

function render (el, torrent, bytes) {
  const progress = Math.min(1, torrent.progress)
  el.dataset.progress = progress.toFixed(4)
  el.dataset.peers = String(torrent.numPeers)
  el.dataset.peersMax = String(Math.max(torrent.numPeers, Number(el.dataset.peersMax || 0)))
  el.dataset.listenerBytes = String(bytes.listeners)
  const total = bytes.listeners + bytes.seeder + bytes.origin
  const share = total ? Math.round(100 * bytes.listeners / total) : 0
  let text = Math.floor(progress * 100) + '% · ' + torrent.numPeers + (torrent.numPeers === 1 ? ' peer' : ' peers') +
    ' · ' + share + '% from other listeners'
  if (bytes.origin) text += ' · ' + Math.round(100 * bytes.origin / total) + '% from the original server'
  if (el.dataset.verified === 'true') text += ' · verified'
  else if (el.dataset.verifyMessage) text += ' · ' + el.dataset.verifyMessage
  status(el, text)
}

function status (el, text) {
  const p = el.querySelector('.player-status')
  if (p) p.textContent = text
}

// verify compares the whole file's digest with data-sha256: hex SHA-256, or an SRI
// value ("sha256-<base64>", sha384-, sha512-) as podcast:integrity gives it.
async function verify (el, blob) {
  const want = (el.dataset.sha256 || '').trim()
  if (!want) {
    el.dataset.verified = 'false'
    el.dataset.verifyMessage = 'no checksum published'
    return
  }
  if (!(window.crypto && crypto.subtle)) {
    el.dataset.verified = 'false'
    el.dataset.verifyMessage = 'cannot check the checksum here (needs https)'
    return
  }
  // podcast:integrity may carry an SRI value of another SHA-2 size.
  const sri = /^sha(256|384|512)-(.+)$/.exec(want)
  const algo = 'SHA-' + (sri ? sri[1] : '256')
  const got = new Uint8Array(await crypto.subtle.digest(algo, await blob.arrayBuffer()))
  const ok = sri ? base64(got) === sri[2] : hex(got) === want.toLowerCase()
  el.dataset.verified = ok ? 'true' : 'false'
  el.dataset.verifyMessage = ok ? '' : 'checksum mismatch: these bytes are not the published file'
}

function hex (b) { return Array.from(b, x => x.toString(16).padStart(2, '0')).join('') }
function base64 (b) { return btoa(String.fromCharCode(...b)) }

// corsAllowed asks the original URL for one byte with the headers WebTorrent's
// web seed requests carry, so the browser makes the same CORS preflight. Blocked
// by CORS or by the page's CSP, it throws, and the web seed is not used.
async function corsAllowed (url) {
  try {
    const res = await fetch(url, {
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      headers: { Range: 'bytes=0-0', 'Cache-Control': 'no-store', 'User-Agent': 'WebTorrent' }
    })
    return res.ok
  } catch (err) {
    return false
  }
}

// A minimal bencode reader: enough to find and drop one key of the top-level
// dictionary while leaving every other byte (the info dictionary, so the info
// hash) as it was.
function valueEnd (b, i) {
  const c = b[i]
  if (c === 0x69) return b.indexOf(0x65, i) + 1 // i<int>e
  if (c === 0x6c || c === 0x64) { // l...e, d...e
    i++
    while (b[i] !== 0x65) i = valueEnd(b, i)
    return i + 1
  }
  const colon = b.indexOf(0x3a, i) // <len>:<bytes>
  const n = parseInt(new TextDecoder().decode(b.subarray(i, colon)), 10)
  if (!(n >= 0) || colon < 0) throw new Error('malformed torrent')
  return colon + 1 + n
}

// topLevel calls fn(key, valueStart, valueEnd, keyStart) for each top-level key.
function topLevel (b, fn) {
  if (b[0] !== 0x64) throw new Error('malformed torrent')
  let i = 1
  while (b[i] !== 0x65) {
    const keyStart = i
    const keyEnd = valueEnd(b, i)
    const key = new TextDecoder().decode(b.subarray(b.indexOf(0x3a, i) + 1, keyEnd))
    const end = valueEnd(b, keyEnd)
    fn(key, keyEnd, end, keyStart)
    i = end
  }
}

function withoutKey (b, name) {
  let out = b
  topLevel(b, (key, _, end, keyStart) => {
    if (key === name) out = new Uint8Array([...b.subarray(0, keyStart), ...b.subarray(end)])
  })
  return out
}

// urlList returns the torrent's first web seed, or ''.
function urlList (b) {
  let url = ''
  topLevel(b, (key, start, end) => {
    if (key !== 'url-list') return
    let v = b.subarray(start, end)
    if (v[0] === 0x6c) v = v.subarray(1, valueEnd(v, 1)) // a list: its first entry
    if (v[0] >= 0x30 && v[0] <= 0x39) url = new TextDecoder().decode(v.subarray(v.indexOf(0x3a) + 1))
  })
  return url
}
