// A stand-in for your application in the compose demo: a WhatsApp Cloud API client whose Graph
// base URL comes from the environment, as any real client's should. Pointing it at driftwatch's
// proxy is the whole integration: GRAPH_API_BASE=http://driftwatch-proxy:8788 instead of
// https://graph.facebook.com. It sends what a small app sends: it uploads an image once, then once
// a second reads its phone number, lists templates, sends a text message and retrieves the
// image's media URL (the endpoint of the Jan 20 2026 incident).
const base = (process.env.GRAPH_API_BASE ?? 'https://graph.facebook.com').replace(/\/$/, '')
const version = process.env.GRAPH_API_VERSION ?? 'v23.0'
const token = process.env.WHATSAPP_ACCESS_TOKEN
const phone = process.env.WHATSAPP_PHONE_NUMBER_ID
const waba = process.env.WHATSAPP_WABA_ID
const to = process.env.WHATSAPP_TEST_RECIPIENT
if (!token || !phone || !waba || !to) {
  console.error('set WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID and WHATSAPP_TEST_RECIPIENT')
  process.exit(2)
}
const headers = { authorization: `Bearer ${token}` }

async function call(method, path, body) {
  try {
    const res = await fetch(`${base}/${version}${path}`, {
      method,
      headers: body && !(body instanceof FormData) ? { ...headers, 'content-type': 'application/json' } : headers,
      ...(body ? { body: body instanceof FormData ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    })
    const text = await res.text()
    if (body instanceof FormData) media = /"id"\s*:\s*"(\d+)"/.exec(text)?.[1]
    return `${method} ${path.split('?')[0]} ${res.status}`
  } catch (err) {
    // What a real app sees when the upstream fails mid-answer: the proxy passes the failure through.
    return `${method} ${path.split('?')[0]} failed: ${err.cause?.code ?? err.name}`
  }
}

let media
const upload = new FormData()
upload.set('messaging_product', 'whatsapp')
upload.set('type', 'image/png')
upload.set('file', new Blob([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')], { type: 'image/png' }), 'pixel.png')
console.log(await call('POST', `/${phone}/media`, upload))

let stop = false
process.on('SIGTERM', () => (stop = true))
process.on('SIGINT', () => (stop = true))
while (!stop) {
  const lines = await Promise.all([
    call('GET', `/${phone}`),
    call('GET', `/${waba}/message_templates?limit=2`),
    call('POST', `/${phone}/messages`, { messaging_product: 'whatsapp', to, type: 'text', text: { body: 'hello from the compose demo' } }),
    ...(media ? [call('GET', `/${media}`)] : []),
  ])
  console.log(lines.join(' · '))
  await new Promise((r) => setTimeout(r, 1000))
}
