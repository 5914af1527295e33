// `sqlx::migrate!` embeds the migration files at compile time but cannot tell cargo about them:
// rebuild this crate whenever a migration changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
