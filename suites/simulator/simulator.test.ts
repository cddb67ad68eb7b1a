/**
 * The simulator behaves like the Graph API as FACTS.md describes it, over a real socket. Uses
 * node:http (not the harness's transport) so the simulator is checked independently.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'

interface Res {
  status: number
  statusMessage: string
  raw: [string, string][]
  header(name: string): string | undefined
  body: Buffer
  json: any
}

let sim: RunningSimulator

function call(method: string, path: string, opts: { token?: string | null; body?: Buffer | string; contentType?: string } = {}): Promise<Res> {
  const url = new URL(path, sim.url)
  const headers: Record<string, string> = {}
  const token = opts.token === undefined ? sim.credentials.token : opts.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (opts.contentType) headers['content-type'] = opts.contentType
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body))
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        const raw: [string, string][] = []
        for (let i = 0; i < res.rawHeaders.length; i += 2) raw.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!])
        let json: unknown
        try {
          json = JSON.parse(body.toString())
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode!, statusMessage: res.statusMessage ?? '', raw, header: (n) => raw.find(([k]) => k.toLowerCase() === n)?.[1], body, json })
      })
    })
    r.on('error', reject)
    if (opts.body !== undefined) r.write(opts.body)
    r.end()
  })
}

async function upload(bytes: Buffer, type = 'image/png'): Promise<string> {
  const form = new FormData()
  form.set('messaging_product', 'whatsapp')
  form.set('type', type)
  form.set('file', new Blob([bytes], { type }), 'x.png')
  const enc = new Response(form)
  const res = await call('POST', `/v23.0/${sim.credentials.phoneNumberId}/media`, { body: Buffer.from(await enc.arrayBuffer()), contentType: enc.headers.get('content-type')! })
  expect(res.status).toBe(200)
  return res.json.id as string
}

beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(() => sim.close())

describe('Graph responses on the wire', () => {
  it('sends Meta\'s headers in Meta\'s order, with Content-Length framing', async () => {
    const res = await call('GET', `/v23.0/${sim.credentials.phoneNumberId}`)
    expect(res.status).toBe(200)
    expect(res.raw.map(([n]) => n)).toEqual([
      'Content-Type', 'Vary', 'Vary', 'x-business-use-case-usage', 'Access-Control-Allow-Origin', 'facebook-api-version',
      'Strict-Transport-Security', 'Pragma', 'Cache-Control', 'Expires', 'x-fb-request-id', 'x-fb-trace-id', 'x-fb-rev',
      'X-FB-Debug', 'Date', 'Alt-Svc', 'Connection', 'Content-Length',
    ])
    expect(res.header('content-type')).toBe('application/json; charset=UTF-8')
    expect(res.header('cache-control')).toBe('private, no-cache, no-store, must-revalidate')
    expect(res.header('transfer-encoding')).toBeUndefined()
    expect(Number(res.header('content-length'))).toBe(res.body.length)
    expect(JSON.parse(res.header('x-business-use-case-usage')!)).toHaveProperty(sim.credentials.wabaId)
    expect(res.json).toMatchObject({ id: sim.credentials.phoneNumberId, quality_rating: 'GREEN' })
  })

  it('answers an unparsable token with 190, www-authenticate, no-store and fbtrace_id = x-fb-request-id', async () => {
    const res = await call('GET', `/v23.0/${sim.credentials.phoneNumberId}`, { token: 'garbage' })
    expect(res.status).toBe(401)
    expect(res.json.error).toMatchObject({ code: 190, type: 'OAuthException', message: 'Invalid OAuth access token - Cannot parse access token' })
    expect(res.json.error.fbtrace_id).toBe(res.header('x-fb-request-id'))
    expect(res.header('www-authenticate')).toBe('OAuth "Facebook Platform" "invalid_request" "Invalid OAuth access token - Cannot parse access token"')
    expect(res.header('cache-control')).toBe('no-store')
  })

  it('answers a missing token with 104', async () => {
    const res = await call('GET', `/v23.0/${sim.credentials.phoneNumberId}`, { token: null })
    expect(res.json.error.code).toBe(104)
  })

  it('answers an unknown object with 400 GraphMethodException 100/33', async () => {
    const res = await call('GET', '/v23.0/999999999999999')
    expect(res.status).toBe(400)
    expect(res.json.error).toMatchObject({ code: 100, error_subcode: 33, type: 'GraphMethodException' })
    expect(res.json.error.message).toMatch(/^Unsupported get request\. Object with ID '999999999999999' does not exist/)
  })

  it('auto-upgrades a retired version and says so', async () => {
    const res = await call('GET', `/v19.0/${sim.credentials.phoneNumberId}`)
    expect(res.header('facebook-api-version')).toBe('v22.0')
    expect(res.header('x-ad-api-version-warning')).toBe('The call has been auto-upgraded to v22.0 as v19.0 will be deprecated.')
  })

  it('yields the same request ids for the same sequence of calls (deterministic)', async () => {
    const a = await startSimulator()
    const b = await startSimulator()
    try {
      const ids = async (s: RunningSimulator) => {
        const r = await fetch(`${s.url}/v23.0/1`, { headers: { authorization: `Bearer ${s.credentials.token}` } })
        return r.headers.get('x-fb-request-id')
      }
      expect(await ids(a)).toBe(await ids(b))
    } finally {
      await a.close()
      await b.close()
    }
  })
})

describe('the media lifecycle', () => {
  const png = readFileSync('contracts/meta/fixtures/driftwatch-probe.png')

  it('upload -> retrieve (integer file_size, real sha256) -> download on the lookaside path -> delete', async () => {
    const id = await upload(png)
    const meta = await call('GET', `/v23.0/${id}`)
    expect(Object.keys(meta.json)).toEqual(['messaging_product', 'url', 'mime_type', 'sha256', 'file_size', 'id'])
    expect(meta.json).toMatchObject({ id, mime_type: 'image/png', file_size: png.length, sha256: createHash('sha256').update(png).digest('hex') })
    expect(new URL(meta.json.url).pathname).toBe('/whatsapp_business/attachments/') // lookaside.fbsbx.com's path, on the simulator's host

    const dl = await call('GET', meta.json.url.replace(sim.url, ''))
    expect(dl.status).toBe(200)
    expect(dl.body.equals(png)).toBe(true)
    expect(dl.header('content-type')).toBe('image/png')
    expect(dl.header('content-disposition')).toMatch(/^inline;filename=/)
    expect(dl.header('facebook-api-version')).toBeUndefined()
    expect((await call('GET', meta.json.url.replace(sim.url, ''), { token: 'nope' })).status).toBe(404)

    expect((await call('DELETE', `/v23.0/${id}`)).json).toEqual({ success: true })
    expect((await call('GET', `/v23.0/${id}`)).json.error.error_subcode).toBe(33)
  })

  it('accepts the optional phone_number_id of the owner and rejects another', async () => {
    const id = await upload(png)
    expect((await call('GET', `/v23.0/${id}?phone_number_id=${sim.credentials.phoneNumberId}`)).status).toBe(200)
    const other = await call('GET', `/v23.0/${id}?phone_number_id=123`)
    expect(other.status).toBe(400)
    expect(other.json.error.message).toContain('phone_number_id')
  })

  it('answers POST with method=get on a media id with 405 (seed 001)', async () => {
    const id = await upload(png)
    const res = await call('POST', `/v23.0/${id}`, { body: 'method=get', contentType: 'application/x-www-form-urlencoded' })
    expect(res.status).toBe(405)
    expect(res.statusMessage).toBe('Method Not Allowed')
    expect(res.json.error.code).toBe(100)
  })

  it('rejects an upload without messaging_product or with an unsupported type', async () => {
    const form = new FormData()
    form.set('file', new Blob([png], { type: 'image/png' }), 'x.png')
    const enc = new Response(form)
    const res = await call('POST', `/v23.0/${sim.credentials.phoneNumberId}/media`, { body: Buffer.from(await enc.arrayBuffer()), contentType: enc.headers.get('content-type')! })
    expect(res.json.error.message).toBe('(#100) The parameter messaging_product is required.')
    const form2 = new FormData()
    form2.set('messaging_product', 'whatsapp')
    form2.set('file', new Blob([png], { type: 'application/x-msdownload' }), 'x.exe')
    const enc2 = new Response(form2)
    const res2 = await call('POST', `/v23.0/${sim.credentials.phoneNumberId}/media`, { body: Buffer.from(await enc2.arrayBuffer()), contentType: enc2.headers.get('content-type')! })
    expect(res2.json.error.error_data.details).toContain("Received file of type 'application/x-msdownload'")
  })

  it('streams a large synthetic media body with a correct hash', async () => {
    const m = sim.state.addSyntheticMedia(3 * 1024 * 1024 + 5)
    const meta = await call('GET', `/v23.0/${m.id}`)
    const dl = await call('GET', meta.json.url.replace(sim.url, ''))
    expect(dl.body.length).toBe(m.size)
    expect(createHash('sha256').update(dl.body).digest('hex')).toBe(meta.json.sha256)
  })
})

describe('messages and templates', () => {
  it('sends a text message and returns contacts and a wamid', async () => {
    const body = JSON.stringify({ messaging_product: 'whatsapp', to: '16315550100', type: 'text', text: { body: 'hi' } })
    const res = await call('POST', `/v23.0/${sim.credentials.phoneNumberId}/messages`, { body, contentType: 'application/json' })
    expect(res.json).toMatchObject({ messaging_product: 'whatsapp', contacts: [{ input: '16315550100', wa_id: '16315550100' }] })
    expect(res.json.messages[0].id).toMatch(/^wamid\./)
  })

  it('marks a message read (with or without a typing indicator) with {"success": true}, not a wamid', async () => {
    const path = `/v23.0/${sim.credentials.phoneNumberId}/messages`
    for (const extra of [{}, { typing_indicator: { type: 'text' } }]) {
      const res = await call('POST', path, { body: JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.HBgLMTYzMTU1NTAxMDAVAgASGBQ', ...extra }), contentType: 'application/json' })
      expect([res.status, res.json]).toEqual([200, { success: true }])
    }
    const bad = await call('POST', path, { body: JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: '42' }), contentType: 'application/json' })
    expect([bad.status, bad.json.error.code]).toEqual([400, 100])
  })

  it('pages templates with cursors and paging.next, and no next on the last page', async () => {
    const first = await call('GET', `/v23.0/${sim.credentials.wabaId}/message_templates?limit=2`)
    expect(first.json.data).toHaveLength(2)
    expect(first.json.paging.cursors).toHaveProperty('after')
    const next = new URL(first.json.paging.next)
    const second = await call('GET', `${next.pathname}${next.search}`)
    expect(second.json.data).toHaveLength(1)
    expect(second.json.paging.next).toBeUndefined()
    expect(second.json.paging.previous).toBeDefined()
  })
})
