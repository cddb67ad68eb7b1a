/**
 * `startSim`, the sim command as a library call: the simulator on a free loopback port, its
 * webhooks signed with WHATSAPP_APP_SECRET from the environment when set, else with the public dev
 * secret (which the CLI then warns about).
 */
import { describe, expect, it } from 'vitest'
import { DEV_APP_SECRET, startSim } from '../../src/commands/sim.ts'

describe('startSim', () => {
  it('signs webhooks with WHATSAPP_APP_SECRET when the environment has it', async () => {
    const running = await startSim({ port: 0, scenario: 'media-chunked', webhookUrl: 'http://127.0.0.1:9/hook', env: { WHATSAPP_APP_SECRET: 'from-the-env-0123456789' } })
    try {
      expect(running.scenario.name).toBe('media-chunked')
      expect(running.webhooks?.appSecretSource).toBe('env')
      const res = await fetch(`${running.url}/v23.0/${running.credentials.phoneNumberId}`, { headers: { authorization: `Bearer ${running.credentials.token}` } })
      expect(res.status).toBe(200)
    } finally {
      await running.close()
    }
  })

  it('falls back to the public dev secret without one, and sends no webhooks without a URL', async () => {
    const withUrl = await startSim({ port: 0, webhookUrl: 'http://127.0.0.1:9/hook', env: {} })
    const without = await startSim({ port: 0, env: { WHATSAPP_APP_SECRET: 'unused-0123456789' } })
    try {
      expect(withUrl.webhooks?.appSecretSource).toBe('dev-default')
      expect(DEV_APP_SECRET.length).toBeGreaterThan(0)
      expect(withUrl.scenario.name).toBe('baseline')
      expect(without.webhooks).toBeUndefined()
    } finally {
      await withUrl.close()
      await without.close()
    }
  })
})
