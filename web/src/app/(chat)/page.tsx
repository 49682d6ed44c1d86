export default function Home() {
  return (
    <section className="pane empty-pane" aria-label="No conversation open">
      <p>Choose a conversation, or find someone to start one.</p>
    </section>
  );
}
