/**
 * Maps issue paths (`['policy', 'budgets', 'account', 'records']`) to line:column in the YAML
 * source, through the `yaml` package's document AST and LineCounter, so every issue points at
 * the text the operator has to change.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
} from 'yaml'

/** A 1-based position; 0:0 when unknown. */
export interface Position {
  readonly line: number
  readonly column: number
}

const UNKNOWN: Position = { line: 0, column: 0 }

function at(counter: LineCounter, offset: number | undefined): Position {
  if (offset === undefined) return UNKNOWN
  const p = counter.linePos(offset)
  return { line: p.line, column: p.col }
}

function resolve(doc: Document, node: unknown): unknown {
  // Aliases point elsewhere in the file; follow them (bounded: an alias never aliases an alias).
  return isAlias(node) ? node.resolve(doc) : node
}

/**
 * Position of the node at `path`. With `key`, the position of the mapping key instead of its
 * value (unknown keys). When the path leaves the document (a missing key), the deepest key that
 * exists: the mapping the missing key belongs in.
 */
export function positionOf(
  doc: Document,
  counter: LineCounter,
  path: readonly PropertyKey[],
  key = false,
): Position {
  let node: unknown = resolve(doc, doc.contents)
  let keyNode: Node | undefined
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) =>
          isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(step),
      )
      if (pair === undefined) return positionOfNode(counter, keyNode ?? (node as Node))
      keyNode = isScalar(pair.key) ? pair.key : undefined
      // `key:` with nothing after it: the value node is null, point at the key.
      node = pair.value === null ? keyNode : resolve(doc, pair.value)
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step]
      if (item === undefined) return positionOfNode(counter, node)
      keyNode = undefined
      node = resolve(doc, item)
    } else {
      return positionOfNode(counter, (keyNode ?? node) as Node | undefined)
    }
  }
  if (key && keyNode !== undefined) return positionOfNode(counter, keyNode)
  return positionOfNode(counter, node as Node | undefined)
}

function positionOfNode(counter: LineCounter, node: Node | undefined | null): Position {
  return at(counter, node?.range?.[0])
}
