package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
)

// Field is one decoded field of a code, named as in the format.
type Field struct {
	Name  string // the format's field name, e.g. "validUntil"
	Label string // the format's 中文 name, e.g. "有效期至"
	Value any    // uint64, int64, string or []string
}

// Fields lists the credential's fields in key order; absent optional fields
// are left out.
func (cr *Credential) Fields() []Field {
	var out []Field
	add := func(name, label string, v any) {
		switch x := v.(type) {
		case string:
			if x == "" {
				return
			}
		case Date:
			if x.IsZero() {
				return
			}
			v = x.String()
		}
		out = append(out, Field{Name: name, Label: label, Value: v})
	}
	add("version", "版本", cr.Version)
	add("kind", "证照种类", uint64(cr.Kind))
	add("title", "证照名称", cr.Title)
	add("number", "证照编号", cr.Number)
	add("id", "电子证照标识", cr.ID)
	add("holder", "持证主体", cr.Holder)
	add("holderIdType", "持证主体代码类型", uint64(cr.HolderIDType))
	add("holderId", "持证主体代码", cr.HolderID)
	add("authority", "发证机关", cr.Authority)
	add("authorityCode", "发证机关代码", cr.AuthorityCode)
	add("issued", "发证日期", cr.Issued)
	add("validFrom", "有效期起", cr.ValidFrom)
	add("validUntil", "有效期至", cr.ValidUntil)
	if p := cr.Practitioner; p != nil {
		add("categories", "从业资格类别", append([]string(nil), p.Categories...))
		add("sex", "性别", p.Sex)
		add("birthDate", "出生日期", p.BirthDate)
		add("vehicleClass", "准驾车型", p.VehicleClass)
		add("integrityGrade", "诚信考核等级", p.IntegrityGrade)
		add("integrityDate", "诚信考核日期", p.IntegrityDate)
	}
	if p := cr.Permit; p != nil {
		add("scope", "经营范围", p.Scope)
		add("address", "地址", p.Address)
		add("economicType", "经济类型", p.EconomicType)
	}
	if v := cr.Vehicle; v != nil {
		add("plate", "车牌号码", v.Plate)
		add("plateColour", "车牌颜色", v.PlateColour)
		add("operator", "业户名称", v.Operator)
		add("operatorLicence", "经营许可证号", v.OperatorLicence)
		add("vehicleType", "车辆类型", v.VehicleType)
		add("capacity", "吨(座)位", v.Capacity)
		add("dimensions", "车辆尺寸 (mm)", v.Dimensions)
		add("scope", "经营范围", v.Scope)
		add("reviewUntil", "审验有效期至", v.ReviewUntil)
	}
	return out
}

// Fields lists the CWT claims (iss, iat, exp, cti as hex) followed by the
// credential's fields.
func (c *Claims) Fields() []Field {
	out := []Field{{Name: "iss", Label: "签发机关代码", Value: c.Issuer}, {Name: "iat", Label: "签发时间", Value: c.IssuedAt}}
	if c.HasExpiry {
		out = append(out, Field{Name: "exp", Label: "二维码失效时间", Value: c.Expires})
	}
	if len(c.CTI) > 0 {
		out = append(out, Field{Name: "cti", Label: "二维码标识", Value: hex.EncodeToString(c.CTI)})
	}
	return append(out, c.Credential.Fields()...)
}

// MarshalJSON writes the claims as one JSON object whose keys are the
// format's field names, in key order.
func (c *Claims) MarshalJSON() ([]byte, error) { return fieldsJSON(c.Fields()) }

func fieldsJSON(fs []Field) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(f.Name)
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
