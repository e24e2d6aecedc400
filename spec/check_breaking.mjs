// Breaking-change guard for openapi.yaml (policy: spec/VERSIONING.md).
//
//   node spec/check_breaking.mjs BASELINE.yaml CURRENT.yaml
//
// api-smart-diff classifies every difference between the two documents with its OpenAPI 3
// rules (breaking, non-breaking, annotation, ...); this script adds only the versioning policy:
// a breaking change is allowed when, and only when, the major part of `info.version` was raised.
// Exit codes: 0 compatible or allowed, 1 breaking change or version error, 2 usage error.
import { readFileSync } from 'node:fs'
import { apiCompare } from 'api-smart-diff'
import { load } from 'js-yaml'

// Component definitions are compared where they are used: api-smart-diff resolves every $ref
// under `paths`, so a change to one of these sections is reported there too, once per use,
// and a component that nothing uses cannot break a client.
const RESOLVED_SECTIONS = new Set(['schemas', 'parameters', 'responses', 'requestBodies', 'headers', 'examples'])

function readDocument(path) {
  return load(readFileSync(path, 'utf8'))
}

function parseVersion(document, path) {
  const version = String(document?.info?.version ?? '')
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version)
  if (!match) {
    throw new Error(`${path}: info.version "${version}" is not MAJOR.MINOR.PATCH`)
  }
  return { text: version, parts: match.slice(1).map(Number) }
}

function compareVersions(a, b) {
  for (let i = 0; i < 3; i++) {
    if (a.parts[i] !== b.parts[i]) return a.parts[i] - b.parts[i]
  }
  return 0
}

function isReportedUnderPaths(diff) {
  return diff.path[0] === 'components' && RESOLVED_SECTIONS.has(diff.path[1])
}

function describe(diff) {
  const where = diff.path.map(String).join(' > ')
  return `${diff.description ?? `${diff.action} ${diff.type}`}\n      at ${where}`
}

function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: node spec/check_breaking.mjs BASELINE.yaml CURRENT.yaml')
    return 2
  }
  const [baselinePath, currentPath] = argv
  const baseline = readDocument(baselinePath)
  const current = readDocument(currentPath)
  const released = parseVersion(baseline, baselinePath)
  const proposed = parseVersion(current, currentPath)

  if (compareVersions(proposed, released) < 0) {
    console.error(`info.version ${proposed.text} is lower than the released ${released.text}.`)
    return 1
  }

  const { diffs } = apiCompare(baseline, current)
  const breaking = diffs.filter((diff) => diff.type === 'breaking' && !isReportedUnderPaths(diff))
  const summary = `${currentPath} (${proposed.text}) against ${baselinePath} (${released.text})`

  if (breaking.length === 0) {
    console.log(`No breaking change: ${summary}; ${diffs.length} difference(s) in all.`)
    if (diffs.length > 0 && proposed.text === released.text) {
      console.log('Note: raise the minor (additions) or patch (wording) version before releasing.')
    }
    return 0
  }

  const lines = breaking.map((diff) => `  - ${describe(diff)}`).join('\n')
  if (proposed.parts[0] > released.parts[0]) {
    console.log(`${breaking.length} breaking change(s), allowed by the new major version: ${summary}`)
    console.log(lines)
    return 0
  }
  console.error(`${breaking.length} breaking change(s): ${summary}`)
  console.error(lines)
  console.error(
    `Clients generated from ${released.text} would break. Make the change compatible (new fields ` +
      'optional, nothing removed or narrowed), or raise the major part of info.version and record ' +
      'the change in spec/CHANGELOG.md.',
  )
  return 1
}

try {
  process.exitCode = main(process.argv.slice(2))
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
}
