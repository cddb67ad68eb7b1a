/**
 * Drift classes the seeds imply, one scenario each: a field changes type, a field disappears, a
 * required header goes, the content type changes, and a media URL moves to a foreign host.
 */
import { isGraphPath } from '../routes.ts'
import { onRetrieveMedia, type Scenario } from '../scenario.ts'

export const mediaFileSizeString: Scenario = {
  name: 'media-file-size-string',
  description: 'Retrieve-media answers file_size as a string ("463"), as Meta\'s own spec and Postman example show, instead of the integer real traffic has.',
  source: 'FACTS.md, known disagreements ("file_size is a string in the spec and the Postman example, an integer in recorded traffic")',
  respond: onRetrieveMedia((b) => {
    b.file_size = String(b.file_size)
  }),
}

export const mediaSha256Missing: Scenario = {
  name: 'media-sha256-missing',
  description: 'Retrieve-media stops returning sha256: clients can no longer verify downloads.',
  source: 'A field disappearing without notice, the class of change seed 000 describes ("breaking changes ... without backward compatibility")',
  respond: onRetrieveMedia((b) => {
    delete b.sha256
  }),
}

export const graphRequestIdDropped: Scenario = {
  name: 'graph-request-id-dropped',
  description: 'Graph responses stop carrying x-fb-request-id, the id Meta support asks for.',
  source: 'FACTS.md headers (x-fb-request-id on every Graph response, equal to fbtrace_id on errors); seed 004 ("always log ... fbtrace_id for support escalation")',
  async respond(req, next) {
    const res = await next()
    return isGraphPath(req) ? { ...res, headers: res.headers.filter(([n]) => n.toLowerCase() !== 'x-fb-request-id') } : res
  },
}

export const jsonServedAsJavascript: Scenario = {
  name: 'json-served-as-javascript',
  description: 'Graph JSON responses arrive as Content-Type: text/javascript; charset=UTF-8.',
  source: 'FACTS.md headers ("a self-hosted client once got text/javascript; charset=UTF-8")',
  async respond(req, next) {
    const res = await next()
    if (!isGraphPath(req)) return res
    return { ...res, headers: res.headers.map(([n, v]): [string, string] => (n.toLowerCase() === 'content-type' && v.startsWith('application/json') ? [n, 'text/javascript; charset=UTF-8'] : [n, v])) }
  },
}

export const mediaUrlForeignHost: Scenario = {
  name: 'media-url-foreign-host',
  description: 'Retrieve-media returns a download URL on another host; a client that follows it with its token leaks the token.',
  source: 'FACTS.md (downloads come from lookaside.fbsbx.com with the bearer token); the token allowlist this project requires',
  respond: onRetrieveMedia((b) => {
    const u = new URL(String(b.url))
    u.hostname = u.hostname === 'localhost' ? '127.0.0.1' : 'localhost'
    b.url = u.toString()
  }),
}
