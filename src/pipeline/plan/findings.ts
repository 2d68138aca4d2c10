// Assess's findings as a person reads them: findings that say the same of several places (the
// same code, the same words once the place is taken out, the same action) are one, with the
// places it concerns; each place once.
import type { Finding } from '../../core/types.js';

export interface FindingGroup {
  severity: Finding['severity'];
  code: string;
  /** what the finding says of its places (the message without the place it starts with) */
  message: string;
  action: string;
  /** table or table.column, in the order found, each once; empty for a finding about no table */
  places: string[];
}

const placeOf = (f: Finding) => [f.table, f.column].filter(Boolean).join('.');

/** The message without the place it starts with ("film.title text becomes …" says "text becomes …"). */
function gist(f: Finding): string {
  const place = placeOf(f);
  if (!place) return f.message;
  for (const lead of [`${place} `, `${place}: `, `${place}'s `])
    if (f.message.startsWith(lead)) return f.message.slice(lead.length);
  return f.message;
}

const ORDER = { error: 0, warning: 1, info: 2 };

/** One group per kind of finding, errors first; the places are the group's, the message what they share. */
export function groupFindings(findings: Finding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const f of findings) {
    const key = JSON.stringify([f.severity, f.code, gist(f), f.action]);
    let g = groups.get(key);
    if (!g) {
      g = { severity: f.severity, code: f.code, message: gist(f), action: f.action, places: [] };
      groups.set(key, g);
    }
    const place = placeOf(f);
    if (place && !g.places.includes(place)) g.places.push(place);
  }
  return [...groups.values()].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

/** "2 errors, 1 warning, 3 notes" of the groups (none: "no findings"). */
export function findingCounts(groups: FindingGroup[]): string {
  const count = (severity: Finding['severity'], one: string, many: string) => {
    const n = groups.filter((g) => g.severity === severity).length;
    return n === 0 ? [] : [`${n} ${n === 1 ? one : many}`];
  };
  const parts = [
    ...count('error', 'error', 'errors'),
    ...count('warning', 'warning', 'warnings'),
    ...count('info', 'note', 'notes'),
  ];
  return parts.length === 0 ? 'no findings' : parts.join(', ');
}
