// Starts GraphiQL against this service: queries and mutations over HTTP,
// subscriptions over the WebSocket endpoint (graphql-ws, which the GraphiQL
// bundle includes). A file of its own, not an inline script, so that the
// page's Content-Security-Policy can allow scripts from this origin only.
(function () {
  'use strict';

  // GraphiQL's dialogs lock the page's scrolling with a <style> element they
  // add; the Content-Security-Policy allows it with this response's nonce,
  // which their library (react-remove-scroll) reads from here.
  window.__webpack_nonce__ = document.querySelector('meta[name="style-nonce"]').content;

  var container = document.getElementById('graphiql');
  var endpoint = new URL(container.dataset.endpoint, window.location.href);
  var socket = new URL(container.dataset.subscriptionEndpoint, window.location.href);
  socket.protocol = socket.protocol === 'https:' ? 'wss:' : 'ws:';

  var fetcher = GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: socket.href });

  // The profile page's query (README).
  var defaultQuery = [
    '{',
    '  researcher(slug: "marc-mezard") {',
    '    displayName',
    '    claimStatus',
    '    trust { score level verificationLevel signals { key label points } }',
    '    counts { works followers topics collaborators closeCollaborators }',
    '    works(first: 3) { totalCount edges { node { title year kind venue arxivId } } }',
    '  }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
