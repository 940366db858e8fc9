export function sha256Row(id: number, rounds: number): number;
export function mixRow(id: number, rounds: number): number;
export function workFor(kind: string): (id: number, rounds: number) => number;
