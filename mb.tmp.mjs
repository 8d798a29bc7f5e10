import Database from 'better-sqlite3';
const db = new Database('/tmp/prof/data2/bridge.sqlite');
db.pragma('journal_mode = WAL');
const id = db.prepare('select id from users limit 1').get().id;
for (const [name, sql] of [['select *', 'select * from "users" where "id" = ?'], ['select id', 'select id from users where id = ?']]) {
  const st = db.prepare(sql);
  for (let i = 0; i < 20000; i++) st.all(id);
  const t0 = performance.now(); for (let i = 0; i < 100000; i++) st.all(id); console.log(name, ((performance.now() - t0) * 1000 / 100000).toFixed(2), 'µs');
}
const st = db.prepare('select * from "users" where "id" = ?');
db.pragma('synchronous = NORMAL');
const t0 = performance.now(); for (let i = 0; i < 100000; i++) st.all(id); console.log('after pragma', ((performance.now() - t0) * 1000 / 100000).toFixed(2), 'µs');
console.log(db.prepare('select count(*) n from users').get(), db.pragma('journal_mode'));
