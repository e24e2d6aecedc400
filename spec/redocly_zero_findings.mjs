// Reads `redocly lint --format=json` on stdin and fails on any finding. Redocly's own exit code
// counts errors only; here a warning, or a finding silenced by an ignore file, fails as well.
let text = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => (text += chunk))
process.stdin.on('end', () => {
  const { errors, warnings, ignored } = JSON.parse(text).totals
  if (errors + warnings + ignored > 0) {
    console.error(`Redocly: ${errors} error(s), ${warnings} warning(s), ${ignored} ignored`)
    process.exitCode = 1
  }
})
