/**
 * A probe built from what an earlier answer handed out: when that value makes no http(s) URL
 * (`"url": "javascript:alert(1)"`), the probe is not sent and says why, naming the value and
 * where it came from; the run goes on. It used to end the run with DW_INTERNAL ("Invalid URL").
 */
import { describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/report.ts'
import { checkAgainst, jsonReply } from './cli-outcome.ts'

/** `check --only media.download` (and what it needs) against an upstream whose retrieve hands out `mediaUrl`. */
function downloadFrom(mediaUrl: (base: string) => string): Promise<{ code: number; report: Report }> {
  return checkAgainst('media.download', (_head, base) => jsonReply(JSON.stringify({ id: '1390000000007919', url: mediaUrl(base), mime_type: 'image/png', sha256: '00', file_size: 2 })))
}

describe('a captured value that makes no URL', () => {
  for (const bad of ['javascript:alert(1)', 'http://[::1']) {
    it(`"${bad}": the download is not sent, and its reason names the value and its source`, async () => {
      const { report } = await downloadFrom(() => bad)
      const download = report.results.find((r) => r.contract === 'media.download')!
      expect(download.status).toBe('skipped')
      expect(download.reason).toBe(`not sent: its URL built from {media_url} is not an http(s) URL: ${JSON.stringify(bad)} (captured from media.retrieve-url)`)
      expect(report.results.find((r) => r.contract === 'media.upload')?.status).not.toBe('skipped')
    })
  }

  it('a URL on the upstream is sent', async () => {
    const { report } = await downloadFrom((base) => `${base}/whatsapp_business/attachments/?mid=1`)
    const download = report.results.find((r) => r.contract === 'media.download')!
    expect(download.status).not.toBe('skipped')
    expect(download.probes).toBeGreaterThan(0)
  })
})
