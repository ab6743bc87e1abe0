/** The serve service's version (its OpenAPI document, health, and the answers' system_fingerprint). */
export const SERVE_VERSION = '0.1.0';
