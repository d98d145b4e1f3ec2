/**
 * Base of every node the extension's trees hand to commands. A command that receives one was
 * started by a person from a tree item or its context menu, so it may ask and show messages.
 */
export abstract class TreeNode {}
