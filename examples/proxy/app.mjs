// A stand-in for your application in the compose demo: a WhatsApp Cloud API client whose Graph
// base URL comes from the environment, as any real client's should. Pointing it at driftwatch's
// proxy is the whole integration: GRAPH_API_BASE=http://driftwatch-proxy:8788 instead of
// https://graph.facebook.com. It sends what a small app sends, once a second: read its phone
// number, list templates, send a text message, and retrieve a media URL that does not exist
// (an error Meta answers with a Graph error envelope).
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
      headers: body ? { ...headers, 'content-type': 'application/json' } : headers,
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    })
    await res.arrayBuffer()
    return `${method} ${path.split('?')[0]} ${res.status}`
  } catch (err) {
    // What a real app sees when the upstream fails mid-answer: the proxy passes the failure through.
    return `${method} ${path.split('?')[0]} failed: ${err.cause?.code ?? err.name}`
  }
}

let stop = false
process.on('SIGTERM', () => (stop = true))
process.on('SIGINT', () => (stop = true))
while (!stop) {
  const lines = await Promise.all([
    call('GET', `/${phone}`),
    call('GET', `/${waba}/message_templates?limit=2`),
    call('POST', `/${phone}/messages`, { messaging_product: 'whatsapp', to, type: 'text', text: { body: 'hello from the compose demo' } }),
    call('GET', '/1390000000000000'),
  ])
  console.log(lines.join(' · '))
  await new Promise((r) => setTimeout(r, 1000))
}
