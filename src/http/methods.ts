/** The methods by which an IdP changes something: each is audited, and logged at info. */
export const CHANGE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
