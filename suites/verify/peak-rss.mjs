// Preloaded (node --import) into a CLI child by cli-child.ts: on exit, writes the process's peak
// resident set (bytes) to the file named by DW_PEAK_RSS_FILE, so a test can bound a whole run's memory.
import { writeFileSync } from 'node:fs'

const file = process.env.DW_PEAK_RSS_FILE
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)))
