// Search for a site opened from disk (file://), where a browser refuses what MkDocs' search uses: a Web
// Worker and a download of search/search_index.json. docs/hooks.py makes search/main.js call this on
// file:// instead; it loads lunr and the index as plain scripts (search/search_index.js holds the same
// index as the JSON file) and searches in the page, as worker.js does in its worker.
function searchFromDisk () {
  function load (path, then) {
    var script = document.createElement("script");
    script.src = joinUrl(base_url, path);
    script.onload = then;
    document.head.appendChild(script);
  }
  load("search/lunr.js", function () {
    load("search/search_index.js", function () {
      var data = window.mkdocs_search_index;
      var documents = {};
      if (data.config && data.config.separator) {
        lunr.tokenizer.separator = new RegExp(data.config.separator);
      }
      var index = lunr(function () {
        this.field("title");
        this.field("text");
        this.ref("location");
        for (var i = 0; i < data.docs.length; i++) {
          this.add(data.docs[i]);
          documents[data.docs[i].location] = data.docs[i];
        }
      });
      window.min_search_length = data.config.min_search_length - 1;
      doSearch = function () {  // main.js's, without the worker
        var query = document.getElementById("mkdocs-search-query").value;
        var found = [];
        if (query.length > min_search_length) {
          index.search(query).forEach(function (result) {
            var doc = documents[result.ref];
            doc.summary = doc.text.substring(0, 200);
            found.push(doc);
          });
        }
        displayResults(found);
      };
      initSearch();
    });
  });
}
