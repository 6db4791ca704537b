/**
 * The action catalogue (spec §8). Data, not code: a new action is one entry here, and every
 * schema, dashboard filter and alert scope picks it up from this list.
 */
export interface NodeTypeInfo {
  /** Executor group that runs it (spec §2: NodeTypeRegistry GROUP map). */
  readonly group: 'mekari_qontak_crm' | 'mekari_qontak_chat';
  readonly label: string;
}

export const NODE_TYPES = {
  qontak_crm_deal_create: { group: 'mekari_qontak_crm', label: 'Create deal' },
  qontak_crm_ticket_create: { group: 'mekari_qontak_crm', label: 'Create ticket' },
  qontak_crm_ticket_update: { group: 'mekari_qontak_crm', label: 'Update ticket' },
  qontak_crm_deal_update: { group: 'mekari_qontak_crm', label: 'Update deal' },
  qontak_chat_room_assign: { group: 'mekari_qontak_chat', label: 'Assign agent' },
  qontak_chat_room_resolve: { group: 'mekari_qontak_chat', label: 'Resolve conversation' },
  qontak_chat_room_tag: { group: 'mekari_qontak_chat', label: 'Tag conversation' },
} as const satisfies Record<string, NodeTypeInfo>;

export type NodeType = keyof typeof NODE_TYPES;
export const NODE_TYPE_NAMES = Object.keys(NODE_TYPES) as [NodeType, ...NodeType[]];

export function isNodeType(value: unknown): value is NodeType {
  return typeof value === 'string' && Object.hasOwn(NODE_TYPES, value);
}
