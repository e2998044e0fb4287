"""The customers app's services: every state change, each its own transaction.

What other apps use (they never touch these models directly):
- identity: `resolve_or_create`, `lookup_customer`, `resolve_customer` (follows merges),
  `attach_identity`, `normalise_phone` / `normalise_email`;
- merge: `merge_customers`, `unmerge_customers` (participants register in `hooks`);
- consent: `record_consent`, `has_marketing_consent`, `unsubscribe_url`,
  `process_sms_reply`, `current_consent`;
- profile: `update_preferences`, `in_quiet_hours`, `next_send_time`, addresses;
- privacy: `export_customer`, `erase_customer` (guards and sections register in `hooks`).
"""
