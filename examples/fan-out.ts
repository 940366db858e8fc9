// Fan-out/fan-in over tasks of different kinds. Each album is a parent task that fans out one
// `resize` child per photo and one `caption` child for the album; the album's fan-in runs once,
// when all its children are done (even across crashes), and writes the album's summary.
//
//   npx sluice run examples/fan-out.ts            (embedded PostgreSQL, demo data)
import { chunks, defineJob, upsert } from 'sluice';

const albums = Array.from({ length: 40 }, (_, i) => i + 1);

interface Photo {
  photo: number;
  bytes: number;
}

export default defineJob({
  name: process.env.JOB_NAME ?? 'fan-out',
  source: chunks(albums, 1),
  maxParallelism: 8,
  async prepare({ sql }) {
    await sql`create table if not exists album_photos (
      album int not null, photo int not null, bytes int not null, primary key (album, photo))`;
    await sql`
      insert into album_photos
      select a, p, 100000 + (a * 7919 + p * 104729) % 900000
      from generate_series(1, 40) a, generate_series(1, 1 + a % 6) p
      on conflict do nothing`;
    await sql`create table if not exists album_summaries (
      album int primary key, photos int not null, saved_bytes bigint not null, caption text not null)`;
  },
  // The parent: one child per photo, of two kinds.
  async fanOut([album], { sql }) {
    const photos = await sql<Photo[]>`
      select photo, bytes from album_photos where album = ${album as number} order by photo`;
    return [
      ...photos.map((photo) => ({ kind: 'resize', input: photo })),
      { kind: 'caption', input: { album, photos: photos.length } },
    ];
  },
  handlers: {
    // Stands in for an image service: a thumbnail is a quarter of the bytes.
    resize: (photo: Photo) => ({
      photo: photo.photo,
      saved: photo.bytes - Math.ceil(photo.bytes / 4),
    }),
    caption: ({ album, photos }: { album: number; photos: number }) => ({
      caption: `Album ${album}: ${photos} photo${photos === 1 ? '' : 's'}`,
    }),
  },
  // Runs once per album, with every child's report in the order the parent emitted them.
  async fanIn([album], children, { sql }) {
    let saved = 0;
    let caption = '';
    for (const child of children) {
      if (!child.ok) throw new Error(`child ${child.kind} failed: ${child.error}`);
      const report = child.report as { saved?: number; caption?: string };
      saved += report.saved ?? 0;
      caption = report.caption ?? caption;
    }
    const photos = children.length - 1;
    await upsert(sql, 'album_summaries', [{ album, photos, saved_bytes: saved, caption }], {
      key: ['album'],
      update: 'all',
    });
    return { photos, saved };
  },
  initial: () => ({ albums: 0, photos: 0, savedBytes: 0 }),
  reduce: (acc, report) => ({
    albums: acc.albums + 1,
    photos: acc.photos + report.photos,
    savedBytes: acc.savedBytes + report.saved,
  }),
});
