/** The raw addon; each area documents its functions in its own .d.ts. */
export declare const native: Record<string, any> | null;
/** Why the addon is unavailable, or null when it loaded. */
export declare const loadError: string | null;
