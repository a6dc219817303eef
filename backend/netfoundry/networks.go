package netfoundry

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// pageSize is how many networks one listing request asks for.
const pageSize = 100

// maxPages stops a gateway whose paging never ends from holding the picker.
const maxPages = 1000

// networkWire is one network as the gateway describes it.
type networkWire struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Status         string `json:"status"`
	ProductVersion string `json:"productVersion"`
	NetworkGroupID string `json:"networkGroupId"`
}

// networkPage is one page of GET /core/v3/networks (HAL; the _embedded
// object is left out when the page is empty).
type networkPage struct {
	Embedded struct {
		NetworkList []networkWire `json:"networkList"`
	} `json:"_embedded"`
	Page struct {
		Size          int `json:"size"`
		TotalElements int `json:"totalElements"`
		TotalPages    int `json:"totalPages"`
		Number        int `json:"number"`
	} `json:"page"`
}

// Networks lists every network of the organisation the account may see,
// all pages of it. Networks that aren't ready say why in Status; deleted
// ones are left out.
func (b *Backend) Networks(ctx context.Context) ([]model.Network, error) {
	var out []model.Network
	for page := 0; page < maxPages; page++ {
		var p networkPage
		q := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(pageSize)}}
		if err := b.call(ctx, http.MethodGet, "/core/v3/networks", q, nil, &p, about{}); err != nil {
			return nil, err
		}
		for _, w := range p.Embedded.NetworkList {
			if w.ID == "" || strings.EqualFold(w.Status, "DELETED") {
				continue
			}
			out = append(out, toNetwork(w))
		}
		if len(p.Embedded.NetworkList) == 0 || p.Page.Number+1 >= p.Page.TotalPages {
			break
		}
	}
	b.remember(out)
	return out, nil
}

// network reads one network, to check it can be opened.
func (b *Backend) network(ctx context.Context, nfID string) (networkWire, error) {
	var w networkWire
	err := b.call(ctx, http.MethodGet, "/core/v3/networks/"+url.PathEscape(nfID), nil, nil, &w, about{network: nfID, name: b.nameOf(nfID)})
	return w, err
}

func toNetwork(w networkWire) model.Network {
	name := w.Name
	if strings.TrimSpace(name) == "" {
		name = w.ID
	}
	return model.Network{ID: IDPrefix + w.ID, Name: name, Kind: Kind, Identities: -1, Status: statusWords(w)}
}

// statusWords says in a few words why a network can't be opened, or ""
// when it can: only PROVISIONED networks of the current generation (v8
// and later, which have their own OpenZiti controller) can be. The words
// fit the picker's 40 columns.
func statusWords(w networkWire) string {
	short, _ := statusReason(w)
	return short
}

// statusReason is statusWords and the longer reason errors give.
func statusReason(w networkWire) (short, long string) {
	switch s := strings.ToUpper(w.Status); s {
	case "PROVISIONED":
		if major, ok := majorVersion(w.ProductVersion); ok && major < 8 {
			v := strconv.Itoa(major)
			return "v" + v + " network: not supported by idcon", "it is a version " + v + " network, whose older API idcon doesn't support"
		}
		return "", ""
	case "NEW", "PROVISIONING":
		return "provisioning: NetFoundry is creating it", "NetFoundry is still creating it"
	case "UPDATING", "REPLACING":
		return strings.ToLower(s) + ": try again in a few minutes", "NetFoundry is " + strings.ToLower(s) + " it"
	case "ERROR":
		return "error: see the NetFoundry console", "NetFoundry reports it as failed (status ERROR)"
	case "DELETING", "DELETED":
		return "being deleted", "NetFoundry is deleting it"
	case "":
		return "status unknown", "NetFoundry doesn't say what state it is in"
	default:
		return strings.ToLower(s) + ": not ready", "NetFoundry reports it as " + s + ", not PROVISIONED"
	}
}

// majorVersion reads the leading number of a product version such as
// "7.3.90" or "v8.0.1".
func majorVersion(v string) (int, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	head, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(head)
	return n, err == nil
}

// openable refuses a network whose status says it can't be opened.
func openable(w networkWire) error {
	if _, long := statusReason(w); long != "" {
		name := w.Name
		if name == "" {
			name = w.ID
		}
		return backend.Unavailable("NetFoundry network %s can't be opened: %s", name, long)
	}
	return nil
}
