/**
 * Base of every node the extension's trees hand to commands. A command that receives one was
 * started by a person from a tree item or its context menu, so it may ask and show messages.
 */
export abstract class TreeNode {}

/**
 * The nodes of `items` through `nodeFor` (which reuses a node kept in `nodes`, so a row keeps its
 * identity across refreshes and `reveal` finds it); nodes of items no longer shown are dropped —
 * only those `inScope` when the list is one part of the tree (one backend's jobs).
 */
export function shownNodes<T, N>(
  nodes: Map<string, N>,
  items: readonly T[],
  idOf: (item: T) => string,
  nodeFor: (item: T) => N,
  inScope: (id: string) => boolean = () => true,
): N[] {
  const shown = new Set(items.map(idOf));
  for (const id of nodes.keys()) if (inScope(id) && !shown.has(id)) nodes.delete(id);
  return items.map(nodeFor);
}
